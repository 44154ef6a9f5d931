"""A Redis primary, one replica and three sentinels of the test's own, on loopback ports.

Debian's `redis-sentinel` (`make sentinel`, part of `make test`) runs the
sentinels; they promote the replica when the primary dies.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.redis_server import RedisServer
from tests.servers import free_port

MASTER_NAME = "dashboard"


class SentinelCluster:
    def __init__(self, workdir: Path, down_after_ms: int = 1000) -> None:
        self.workdir = workdir
        self.down_after_ms = down_after_ms
        self.primary = RedisServer(workdir / "primary")
        self.replica: RedisServer | None = None
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        """The servers' and listeners' environment for this cluster."""
        addresses = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return {"REDIS_SENTINELS": addresses, "REDIS_SENTINEL_MASTER": MASTER_NAME}

    def start(self, timeout: float = 20.0) -> SentinelCluster:
        binary = shutil.which("redis-sentinel")
        if binary is None:
            raise RuntimeError("redis-sentinel is not installed (make sentinel)")
        self.primary.start()
        self.replica = RedisServer(
            self.workdir / "replica", "--replicaof", "127.0.0.1", str(self.primary.port)
        )
        self.replica.start()
        for index, port in enumerate(self.sentinel_ports):
            config = self.workdir / f"sentinel-{index}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}\n"
                f"sentinel failover-timeout {MASTER_NAME} 10000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            )
            log = open(self.workdir / f"sentinel-{index}.log", "w")
            self.sentinels.append(
                subprocess.Popen([binary, str(config)], stdout=log, stderr=subprocess.STDOUT)
            )
        self._wait_until_watched(timeout)
        return self

    def _wait_until_watched(self, timeout: float) -> None:
        """Every sentinel knows the primary, the replica (in sync) and the two other sentinels."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self._replica_in_sync() and all(
                    self._knows_everyone(port) for port in self.sentinel_ports
                ):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the sentinels did not find the replica and each other in time")

    def _replica_in_sync(self) -> bool:
        client = redis.Redis(port=self.replica.port)
        try:
            return client.info("replication").get("master_link_status") == "up"
        finally:
            client.close()

    def _knows_everyone(self, port: int) -> bool:
        client = redis.Redis(port=port)
        try:
            master = client.sentinel_master(MASTER_NAME)
            return master["num-slaves"] >= 1 and master["num-other-sentinels"] >= 2
        finally:
            client.close()

    def master_port(self) -> int:
        """The primary's port as the first answering sentinel names it."""
        for port in self.sentinel_ports:
            client = redis.Redis(port=port)
            try:
                return int(client.sentinel_get_master_addr_by_name(MASTER_NAME)[1])
            except redis.RedisError:
                continue
            finally:
                client.close()
        raise RuntimeError("no sentinel answers")

    def forget(self, key: str) -> None:
        """Delete a key on the current primary (as if it had not been replicated in time)."""
        client = redis.Redis(port=self.master_port())
        try:
            client.delete(key)
        finally:
            client.close()

    def stop(self) -> None:
        for process in self.sentinels:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.sentinels = []
        self.primary.stop()
        if self.replica is not None:
            self.replica.stop()
