"""The moto server's patches (infra/emulator/moto_server.py) where teardown depends on them: what AWS does
when a NAT gateway is deleted, whose the service-created KMS keys are, and where access logs may go."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def test_deleting_a_nat_gateway_deletes_its_interface_and_keeps_its_address(emulator):
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    gateway = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]
    eni = gateway["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    assert [
        n["NetworkInterfaceId"] for n in ec2.describe_network_interfaces(Filters=in_vpc)["NetworkInterfaces"]
    ] == [eni]

    ec2.delete_nat_gateway(NatGatewayId=gateway["NatGatewayId"])

    assert ec2.describe_network_interfaces(Filters=in_vpc)["NetworkInterfaces"] == []
    (address,) = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"]
    assert "AssociationId" not in address, "AWS disassociates the Elastic IP but does not release it"
    ec2.release_address(AllocationId=allocation)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_the_key_a_service_creates_on_first_encrypted_use_is_aws_managed(emulator):
    kms, dynamodb = emulator.client("kms"), emulator.client("dynamodb")
    dynamodb.create_table(
        TableName="wh-moto-sse",
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
    )
    service_key = kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]
    assert service_key["KeyManager"] == "AWS"
    ours = kms.create_key(Description="a customer key")["KeyMetadata"]
    kms.create_alias(AliasName="alias/wh-moto-customer", TargetKeyId=ours["KeyId"])
    assert kms.describe_key(KeyId="alias/wh-moto-customer")["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    dynamodb.delete_table(TableName="wh-moto-sse")


def test_access_logging_is_accepted_into_a_bucket_whose_policy_also_denies_plain_http(emulator):
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="wh-moto-logs")
    s3.create_bucket(Bucket="wh-moto-data")
    deny_http = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::wh-moto-logs/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    logging = {"LoggingEnabled": {"TargetBucket": "wh-moto-logs", "TargetPrefix": "wh-moto-data/"}}
    s3.put_bucket_policy(Bucket="wh-moto-logs", Policy=json.dumps({"Statement": [deny_http]}))
    with pytest.raises(ClientError, match="InvalidTargetBucketForLogging"):
        s3.put_bucket_logging(Bucket="wh-moto-data", BucketLoggingStatus=logging)

    delivery = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::wh-moto-logs/*",
    }
    s3.put_bucket_policy(Bucket="wh-moto-logs", Policy=json.dumps({"Statement": [deny_http, delivery]}))
    s3.put_bucket_logging(Bucket="wh-moto-data", BucketLoggingStatus=logging)

    assert s3.get_bucket_logging(Bucket="wh-moto-data")["LoggingEnabled"]["TargetBucket"] == "wh-moto-logs"
    s3.delete_bucket(Bucket="wh-moto-data")
    for entry in s3.list_objects_v2(Bucket="wh-moto-logs").get("Contents", []):  # moto delivers logs too
        s3.delete_object(Bucket="wh-moto-logs", Key=entry["Key"])
    s3.delete_bucket(Bucket="wh-moto-logs")


def test_a_free_port_taken_before_moto_binds_it_is_replaced_by_another(monkeypatch):
    import socket

    from infra.emulator import aws
    from infra.process import free_port

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1], free_port()])
    monkeypatch.setattr(aws, "free_port", lambda: next(ports))
    emulator = aws.AwsEmulator()
    try:
        emulator.start()
        assert emulator.port != taken.getsockname()[1]
        assert emulator.client("s3").list_buckets()["Buckets"] == []
    finally:
        emulator.stop()
        taken.close()
