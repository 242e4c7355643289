"""A VPC across N AZs: public and private subnets tagged for EKS load balancers, NAT, flow logs."""

from __future__ import annotations

import ipaddress

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from infra.config import EnvironmentConfig

from .iam import policy_document, service_trust

AZ_LETTERS = "abcdef"


def flow_log_group_name(cfg: EnvironmentConfig) -> str:
    return f"/waardhaven/{cfg.name}/vpc-flow-logs"


def subnet_cidrs(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """(private, public) CIDRs: private subnets take 1/8 of the VPC each, public ones share the last 1/8."""
    network = ipaddress.IPv4Network(cidr)
    eighths = list(network.subnets(prefixlen_diff=3))
    public = list(eighths[-1].subnets(prefixlen_diff=3))
    return [str(eighths[i]) for i in range(az_count)], [str(public[i]) for i in range(az_count)]


class Network(Construct):
    def __init__(self, scope: Construct, id: str, cfg: EnvironmentConfig, *, logs_key_arn: str) -> None:
        super().__init__(scope, id)
        net = cfg.network
        cluster_tag = {f"kubernetes.io/cluster/{cfg.cluster_name}": "shared"}
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=net.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"waardhaven-{cfg.name}"},
        )
        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id)
        public_routes = RouteTable(
            self, "public_routes", vpc_id=self.vpc.id, tags={"Name": f"{cfg.name}-public"}
        )
        Route(
            self,
            "public_default",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
        )

        private_cidrs, public_cidrs = subnet_cidrs(net.cidr, net.az_count)
        self.private_subnets: list[Subnet] = []
        self.public_subnets: list[Subnet] = []
        nat_gateways: list[NatGateway] = []
        for index in range(net.az_count):
            az = f"{cfg.region}{AZ_LETTERS[index]}"
            public = Subnet(
                self,
                f"public_{az}",
                vpc_id=self.vpc.id,
                availability_zone=az,
                cidr_block=public_cidrs[index],
                tags={"Name": f"{cfg.name}-public-{az}", "kubernetes.io/role/elb": "1", **cluster_tag},
            )
            RouteTableAssociation(
                self, f"public_{az}_routes", subnet_id=public.id, route_table_id=public_routes.id
            )
            self.public_subnets.append(public)
            if net.nat_gateway_per_az or index == 0:
                eip = Eip(self, f"nat_{az}_ip", domain="vpc", tags={"Name": f"{cfg.name}-nat-{az}"})
                nat_gateways.append(
                    NatGateway(
                        self,
                        f"nat_{az}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags={"Name": f"{cfg.name}-nat-{az}"},
                        depends_on=[igw],
                    )
                )
            private = Subnet(
                self,
                f"private_{az}",
                vpc_id=self.vpc.id,
                availability_zone=az,
                cidr_block=private_cidrs[index],
                tags={
                    "Name": f"{cfg.name}-private-{az}",
                    "kubernetes.io/role/internal-elb": "1",
                    **cluster_tag,
                },
            )
            routes = RouteTable(
                self, f"private_{az}_routes", vpc_id=self.vpc.id, tags={"Name": f"{cfg.name}-private-{az}"}
            )
            Route(
                self,
                f"private_{az}_default",
                route_table_id=routes.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_gateways[-1].id,
            )
            RouteTableAssociation(self, f"private_{az}_assoc", subnet_id=private.id, route_table_id=routes.id)
            self.private_subnets.append(private)

        # Adopts the VPC's default security group and removes its rules: nothing may use it by accident.
        DefaultSecurityGroup(
            self, "default_security_group", vpc_id=self.vpc.id, tags={"Name": f"{cfg.name}-default"}
        )
        self._flow_logs(cfg, logs_key_arn)

    def _flow_logs(self, cfg: EnvironmentConfig, logs_key_arn: str) -> None:
        group = CloudwatchLogGroup(
            self,
            "flow_log_group",
            name=flow_log_group_name(cfg),
            retention_in_days=cfg.network.flow_log_retention_days,
            kms_key_id=logs_key_arn,
        )
        role = IamRole(
            self,
            "flow_log_role",
            name=f"waardhaven-{cfg.name}-vpc-flow-logs",
            assume_role_policy=service_trust("vpc-flow-logs.amazonaws.com"),
        )
        IamRolePolicy(
            self,
            "flow_log_policy",
            role=role.id,
            policy=policy_document(
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    "Resource": [group.arn, f"{group.arn}:*"],
                }
            ),
        )
        FlowLog(
            self,
            "flow_log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination=group.arn,
            log_destination_type="cloud-watch-logs",
            iam_role_arn=role.arn,
        )
