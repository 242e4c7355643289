"""The Terraform provider versions the prebuilt cdktf bindings (cdktf-cdktf-provider-*) were generated for.

cdktf writes these into every stack's required_providers. The providers OpenTofu runs are built from the
Go module proxy, which here serves newer commits of the same repositories; the workflows pin synthesized
stacks to those builds (infra.bootstrap.gotools.PROVIDERS, infra.tofu.toolchain.pin_to_mirror).
Standard library only: the bootstrap reads it too.
"""

PROVIDER_VERSIONS = {
    "hashicorp/aws": "6.25.0",
    "hashicorp/kubernetes": "2.38.0",
    "hashicorp/helm": "3.1.1",
}
