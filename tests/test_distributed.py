"""symlib's Ray: a private local instance beside a user's own Ray, letting no one in.

Every byte these tests send goes to 127.0.0.1: the user's head is started on loopback, and the only probe of the
instance symlib starts (an unauthenticated gRPC call) is sent after checking that its address is loopback.
"""
import dataclasses
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from symlib import distributed
from symlib.architectures import register
from symlib.batches import TensorBatches
from symlib.training import Member, TrainConfig, train_members

psutil = pytest.importorskip("psutil")
ray = pytest.importorskip("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def users_ray_head(monkeypatch):
    """A user's own Ray: ``ray start --head`` on 127.0.0.1, its address file where ``ray.init()`` looks for a running
    cluster (``$RAY_TMPDIR/ray/ray_current_cluster``; a short private folder, since Ray's unix sockets live under
    it), stopped afterwards by the PIDs of the processes it started."""
    tmp = tempfile.mkdtemp(prefix="rh", dir="/tmp")
    port = _free_port()
    env = {**os.environ, "RAY_TMPDIR": tmp, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # keep 127.0.0.1 (see
           "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}               # distributed._loopback_only)
    env.pop("RAY_ADDRESS", None)
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                             "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
                             "--include-dashboard=false", "--disable-usage-stats"],
                            env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    address_file = Path(tmp) / "ray" / "ray_current_cluster"
    try:
        deadline = time.time() + 90
        while not address_file.exists() and head.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert address_file.exists(), "ray start --head did not come up"
        assert address_file.read_text().strip() == f"127.0.0.1:{port}"
        monkeypatch.setenv("RAY_TMPDIR", tmp)  # where ray.init() finds the running cluster
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
        yield f"127.0.0.1:{port}", head.pid
    finally:  # by the PIDs this fixture started: `ray start --block` stops its processes on SIGTERM (~2 s)
        try:
            started = psutil.Process(head.pid).children(recursive=True)
        except psutil.Error:
            started = []
        head.terminate()
        try:
            head.wait(30)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        _, alive = psutil.wait_procs(started, timeout=5)
        for p in alive:  # what it left behind
            p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


class _Tiny(nn.Module):
    def __init__(self, cfg=None):
        super().__init__()
        self.lin = nn.Linear(8, 3)

    def forward(self, x):
        return self.lin(x)


@dataclasses.dataclass(frozen=True)
class TinyConfig:
    """A registered architecture of one linear layer (Ray workers import it from this module)."""


register(TinyConfig)(_Tiny)


_CONNECT = """
import sys
import ray._raylet
try:
    ray._raylet.GcsClient(address=sys.argv[1])
except Exception as err:
    print(type(err).__name__, err)
    sys.exit(3)
print("connected")
"""


def _listening(proc) -> list[str]:
    return [c.laddr.ip for c in proc.net_connections("tcp") if c.status == psutil.CONN_LISTEN]


def _is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return addr.is_loopback or (addr.version == 6 and addr.ipv4_mapped is not None and addr.ipv4_mapped.is_loopback)


def test_a_private_local_instance_trains_beside_a_users_running_ray(users_ray_head, tmp_path, monkeypatch):
    """Before: ``ray.init(num_cpus=...)`` joined the user's cluster and failed ("When connecting to an existing
    cluster, num_cpus and num_gpus must not be provided"). Now a private instance of symlib's own trains beside it:
    one that requires a token and listens on loopback only."""
    g = torch.Generator().manual_seed(0)
    source = TensorBatches(torch.randn(32, 8, generator=g), torch.randint(0, 3, (32,), generator=g), 16)
    members = [Member(model=TinyConfig(), init_seed=s, data_seed=s, train=TrainConfig(epochs=2, batch_size=16, lr=1e-2))
               for s in (1, 2)]
    here = train_members(members, source, device="cpu", workers=1, progress=False)
    head_address, head_pid = users_ray_head
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # even for a user who turned authentication off (for their Ray)
    with distributed.session():  # keep the instance up to look at it
        on_ray = train_members(members, source, device="cpu", workers=2, progress=False)
        gcs = ray.get_runtime_context().gcs_address
        assert gcs != head_address  # its own, not the user's
        assert os.environ["RAY_AUTH_MODE"] == "token"
        # the instance's settings: every server runs with token authentication and listens on loopback only
        me = psutil.Process()
        users = {head_pid} | {p.pid for p in psutil.Process(head_pid).children(recursive=True)}
        mine = [p for p in me.children(recursive=True) if p.pid not in users]
        procs = {p.name(): p for p in mine if p.name() in ("gcs_server", "raylet")}
        assert set(procs) == {"gcs_server", "raylet"}
        for name, p in procs.items():
            assert p.environ().get("RAY_AUTH_MODE") == "token", name
        servers = [ip for p in [me, *mine] for ip in _listening(p)]
        assert servers and all(_is_loopback(ip) for ip in servers), servers  # before: '::' / '0.0.0.0' everywhere
        # and a client without the token is turned away, one with it served (both on loopback)
        assert _is_loopback(gcs.rsplit(":", 1)[0])
        no_token = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
        no_token.update(HOME=str(tmp_path), RAY_AUTH_MODE="disabled", RAY_gcs_rpc_server_connect_timeout_s="5")
        refused = subprocess.run([sys.executable, "-c", _CONNECT, gcs], env=no_token, capture_output=True,
                                 text=True, timeout=120)
        assert refused.returncode == 3 and "AuthenticationError" in refused.stdout, refused.stdout + refused.stderr
        served = subprocess.run([sys.executable, "-c", _CONNECT, gcs], capture_output=True, text=True, timeout=120)
        assert served.returncode == 0 and "connected" in served.stdout, served.stdout + served.stderr
    assert not ray.is_initialized() and os.environ["RAY_AUTH_MODE"] == "disabled"  # gone, this process as it was
    for a, b in zip(here, on_ray):  # a member does not depend on where it ran
        assert a["history"] == b["history"]
        for name in a["final"]:
            assert torch.equal(a["final"][name], b["final"][name]), name
