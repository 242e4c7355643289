"""The local Kubernetes API (etcd, kube-apiserver, kube-controller-manager) of the `local` environment."""
