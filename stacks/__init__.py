"""The stack set of every environment, and how to synthesize it.

Stacks are named `<env>-<layer>`; per environment, in dependency order:

    state       state bucket + DynamoDB lock table + state KMS key (the S3 backend of all other stacks)
    network     VPC over `network.az_count` AZs, public/private subnets tagged for EKS LBs, NAT, flow logs
    kms         KMS keys: data-lake, ml-models, eks-secrets (rotation on, aliases alias/waardhaven-<env>-*)
    data-lake   buckets waardhaven-<env>-{raw-data,processed-data,ml-models,flink-state}    <- kms
    eks         EKS cluster, node groups, OIDC provider, EBS CSI add-on              <- network, kms
    irsa        IAM roles for Flink, Spark, connectors, cluster-autoscaler         <- eks, kms, data-lake
    operators   gp3 StorageClass + Helm: cert-manager, kube-prometheus-stack, Strimzi,
                Flink operator, Spark operator, cluster-autoscaler               <- eks, irsa   [Kubernetes]
    platform    charts/waardhaven-pipeline with values-<env>.yaml           <- operators, irsa [Kubernetes]

Every stack also depends on `state`. Stacks marked [Kubernetes] need a live Kubernetes API to plan or apply,
so they cannot run against the local AWS emulator.

Python API (stacks.app):
    stack_plan(env) -> list[StackInfo]    dependency order; StackInfo(name, env, layer, needs_kubernetes,
                                          dependencies). Static: no cdktf import, no synth.
    synth(env_names, outdir) -> dict      the parsed manifest.json of a standard cdktf output directory:
                                          manifest["stacks"][name] has "synthesizedStackPath" (relative to
                                          outdir) and "dependencies". Re-synthesizing keeps other files in the
                                          stack directories (.terraform/, local state).
CLI: `wh synth [--env ENV ...|--all] [--outdir DIR] [--list]` (outdir default: $CDKTF_OUTDIR or ./cdktf.out).

Backends: `local` uses the local backend at `<outdir>/stacks/<stack>/terraform.tfstate`. Every other
environment uses the S3 backend (bucket waardhaven-<env>-tfstate-<account>, key <stack>/terraform.tfstate,
DynamoDB lock table waardhaven-<env>-tfstate-lock). The `<env>-state` stack creates them, so its first
apply runs with `init -backend=false` (local state) and is then moved in with `init -migrate-state`.

Local AWS emulator: only in `local`, the AWS provider uses access/secret key "test", skips credential,
account and metadata checks, path-style S3, and points every service it calls (providers.EMULATED_SERVICES)
at `var.aws_endpoint` (default http://127.0.0.1:5000): pass TF_VAR_aws_endpoint=http://127.0.0.1:<port>.
Provider versions: every stack requires the providers built into the OpenTofu mirror
(infra.bootstrap.provider_versions.BUILT_VERSIONS, set by stacks.app.require_built_providers), not the
versions the bindings were generated for, so `wh deploy` and `cdktf deploy` run the same providers.
"""
