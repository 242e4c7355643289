"""Terraform provider versions: those the prebuilt cdktf bindings were generated for, and those built here.

The bindings (cdktf-cdktf-provider-*, pinned in pyproject.toml) were generated for PROVIDER_VERSIONS. The
Go module proxy reachable here serves newer commits of the same repositories, and BUILT_VERSIONS are the
releases those commits follow: what the bootstrap places in the OpenTofu mirror (infra.bootstrap.gotools)
and what every synthesized stack requires (stacks.app overrides cdktf's bindings version with it), so
`wh deploy` and `cdktf deploy` install exactly the providers built. Keys are registry sources.
Standard library only: the bootstrap reads it too.
"""

PROVIDER_VERSIONS = {
    "hashicorp/aws": "6.25.0",
    "hashicorp/kubernetes": "2.38.0",
    "hashicorp/helm": "3.1.1",
}

BUILT_VERSIONS = {
    "hashicorp/aws": "6.47.1",
    "hashicorp/kubernetes": "3.2.1",
    "hashicorp/helm": "3.2.0",
}
