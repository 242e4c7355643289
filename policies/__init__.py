"""Policy as code for what the platform ships: the synthesized Terraform JSON of every environment and the
Kubernetes manifests rendered from the project's own data (the topic catalog's Strimzi KafkaTopics).

The scanner is checkov (its own venv: `python3 -m infra.bootstrap checkov`): its built-in AWS and
Kubernetes checks plus the project's checks in `policies/checks/` (ids CKV_WH_*). A built-in check that
does not apply here is waived in `waivers.yaml`, with the reason and the environments it covers; every
other failure fails `wh policy` and the test suite.
"""
