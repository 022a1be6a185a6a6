"""ING-06 (reduced): MQTT broker killed with SIGKILL under load — 0 lost, 0 stored twice.

A private mosquitto is started on a free port with persistence in a temporary directory (the
system broker on 1883 is never touched). Simulated gateways publish readings at QoS 1 with
per-gateway sequence numbers, keep each message until PUBACK and, after reconnecting, resend
their recent buffer (docs/mqtt.md). The platform subscriber (fixed client id, persistent session,
ack after commit) stores them. The broker is killed once mid-run and restarted.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.mqtt, pytest.mark.t2]

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, folder: Path, port: int) -> None:
        self.port = port
        self.conf = folder / "mosquitto.conf"
        (folder / "persist").mkdir()
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder / 'persist'}/\nautosave_interval 1\nautosave_on_changes true\n"
            "max_queued_messages 100000\nmax_inflight_messages 200\nlog_dest none\n"
            # as root, mosquitto drops to user "mosquitto", which cannot write the tmp persistence dir
            f"user {getpass.getuser()}\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


T0 = datetime(2025, 3, 1, tzinfo=UTC)


class Gateway:
    """Publishes one reading per tick; keeps every message until PUBACK; resends recent ones after reconnect."""

    def __init__(self, name: str, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.name = name
        self.seq = 0
        self.sent: dict[int, bytes] = {}
        self.infos: dict[int, object] = {}
        self.published: set[int] = set()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{name}", clean_session=False,
                                  protocol=mqtt.MQTTv311)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.max_queued_messages_set(0)
        self.reconnects = 0
        self.client.on_connect = self._on_connect
        self.client.connect_async("127.0.0.1", port, keepalive=5)
        self.client.loop_start()

    def _on_connect(self, *_a: object) -> None:
        self.reconnects += 1
        if self.reconnects > 1:  # resend the buffer of the last 5 s (and anything not acknowledged)
            for s in sorted(self.sent):
                if s > self.seq - 50 or s not in self.published:
                    self.client.publish(f"parkcarbon/E01/{self.name}/readings", self.sent[s], qos=1)

    def tick(self) -> None:
        self.seq += 1
        ts = T0 + timedelta(minutes=self.seq)
        payload = json.dumps({"gateway": self.name, "readings": [
            {"meter": self.name, "ts": ts.isoformat(), "value": float(self.seq), "seq": self.seq}]}).encode()
        self.sent[self.seq] = payload
        self.infos[self.seq] = self.client.publish(f"parkcarbon/E01/{self.name}/readings", payload, qos=1)

    def settle(self) -> None:
        for s, info in self.infos.items():
            try:
                ok = info.is_published()  # type: ignore[attr-defined]
            except (ValueError, RuntimeError):  # published while disconnected: resend
                ok = False
            if ok:
                self.published.add(s)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_broker_kill9_zero_lost_zero_duplicated(tmp_path):
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto not installed")
    from parkcarbon.services.ingestion import run_mqtt
    from parkcarbon.settings import Settings
    from parkcarbon.storage import open_store

    port = _free_port()
    broker = Broker(tmp_path, port)
    broker.start()
    settings = Settings(data_dir=tmp_path / "data", mqtt_port=port, mqtt_client_id=f"pc-test-{port}",
                        mqtt_batch_wait_s=0.05)
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}", settings=settings)
    n_gw, ticks = 20, 150
    with store.transaction() as repo:
        repo.add_enterprise(name="e", enterprise_id="E01")
        for g in range(n_gw):
            repo.add_meter(tenant_id="E01", enterprise_id="E01", code=f"G{g}", carrier="electricity", unit="kWh",
                           kind="interval", interval_s=60)
    stop = threading.Event()
    stats: dict[str, int] = {}
    sub = threading.Thread(target=lambda: stats.update(run_mqtt(store, settings, stop=stop, derive=False)))
    sub.start()
    gws = [Gateway(f"G{g}", port) for g in range(n_gw)]
    t_start = time.monotonic()
    try:
        for k in range(ticks):
            for gw in gws:
                gw.tick()
            if k == ticks // 3:
                broker.kill9()
                time.sleep(0.5)
                broker.start()
            time.sleep(0.05)
        # gateways keep resending anything without PUBACK until the broker confirmed it
        deadline = time.monotonic() + 60
        expected = {(gw.name, T0 + timedelta(minutes=s)) for gw in gws for s in gw.sent}
        while time.monotonic() < deadline:
            with store.reader() as repo:
                stored = repo.reading_keys("E01")
            if {(c, t) for c, t, _ch, _v in stored} >= expected:
                break
            for gw in gws:
                gw.settle()
                for s in sorted(set(gw.sent) - gw.published):
                    gw.infos[s] = gw.client.publish(f"parkcarbon/E01/{gw.name}/readings", gw.sent[s], qos=1)
            time.sleep(1.0)
        elapsed = time.monotonic() - t_start
    finally:
        for gw in gws:
            gw.close()
        stop.set()
        sub.join(timeout=30)
        broker.stop()
    with store.reader() as repo:
        stored = repo.reading_keys("E01")
        n_rows = repo.count_readings("E01")
        conflicts = repo.reading_conflicts()
    store.dispose()
    got = {(c, t) for c, t, _ch, _v in stored}
    lost = expected - got
    assert not lost, f"{len(lost)} readings lost: {sorted(lost)[:5]} stats {stats} published {[len(g.published) for g in gws]}"
    assert n_rows == len(expected) == n_gw * ticks  # 0 stored twice
    assert all(v == float((t - T0).total_seconds() // 60) for _c, t, _ch, v in stored)
    assert conflicts == []
    print(f"ING-06 reduced: {n_rows} readings stored in {elapsed:.1f} s, received {stats.get('received')}, "
          f"acked {stats.get('acked')}, duplicates received {stats.get('received', 0) - n_rows}")
