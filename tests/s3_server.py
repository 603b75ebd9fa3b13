"""A real S3-compatible server on 127.0.0.1 for the tests: moto's ThreadedMotoServer (S3 HTTP
protocol, conditional writes included), started and stopped by the fixtures in conftest.py.

Clients reach it as every user would: ``AWS_ENDPOINT_URL`` and the standard ``AWS_*`` variables
(picked up by s3fs/botocore and by zooprep's CLI subprocesses), or ``--storage-options``.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field


@dataclass
class S3Server:
    endpoint: str
    key: str = "zooprep-test-key"
    secret: str = "zooprep-test-secret-value"
    region: str = "us-east-1"
    _server: object = field(default=None, repr=False)

    @property
    def env(self) -> dict:
        """The standard AWS environment for a client (subprocesses get it through os.environ)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.key,
                "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_DEFAULT_REGION": self.region}

    @property
    def storage_options(self) -> dict:
        """The same, as Hugging Face-style storage options."""
        return {"key": self.key, "secret": self.secret,
                "client_kwargs": {"endpoint_url": self.endpoint, "region_name": self.region}}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.key,
                            aws_secret_access_key=self.secret, region_name=self.region)

    def new_bucket(self, prefix: str = "zp") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def start_server() -> S3Server:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return S3Server(endpoint=f"http://{host}:{port}", _server=server)
