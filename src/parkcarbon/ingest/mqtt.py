"""MQTT subscriber for gateway readings (paho-mqtt 2), acknowledging only after the commit (R17).

Topic layout and payload are documented in ``docs/mqtt.md``::

    <prefix>/<tenant>/<gateway>/readings        (prefix: PARKCARBON_MQTT_TOPIC_PREFIX, "parkcarbon")

The subscriber uses a fixed client id and a persistent session (MQTT 3.1.1 ``clean_session=False``)
and subscribes with QoS 1, so the broker keeps messages while it is away. paho's ``manual_ack``
is on: a message is acknowledged (PUBACK) only after ``handler`` returned, i.e. after the
database transaction holding its readings committed. If the handler raises, nothing is
acknowledged and the client reconnects, so the broker redelivers; duplicates are harmless
because ingest is idempotent by natural key (R1/R2).

This module knows nothing about the store: the service layer passes the handler.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from parkcarbon.errors import InputError, Location

__all__ = ["MqttMessage", "MqttSubscriber", "parse_topic", "topic_filter"]

log = logging.getLogger(__name__)


def topic_filter(prefix: str) -> str:
    """The subscription filter: ``<prefix>/+/+/readings``."""
    return f"{prefix}/+/+/readings"


def parse_topic(topic: str, prefix: str) -> tuple[str, str]:
    """(tenant, gateway) from ``<prefix>/<tenant>/<gateway>/readings``; InputError otherwise."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != prefix or parts[3] != "readings" or not parts[1] or not parts[2]:
        raise InputError(f"unexpected topic {topic!r}", message_zh=f"主题格式不符：{topic!r}",
                         hint=f"publish to {prefix}/<tenant>/<gateway>/readings",
                         hint_zh=f"请发布到 {prefix}/<租户>/<网关>/readings", location=Location(value=topic))
    return parts[1], parts[2]


@dataclass(frozen=True)
class MqttMessage:
    """A received message: ``gen`` is the connection generation it arrived on (acks never cross reconnects)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    gen: int
    received_monotonic: float


class MqttSubscriber:
    """Collects messages into small batches and hands them to ``handler``; acks after it returns.

    Parameters
    ----------
    handler : called with a list of messages; must commit them durably before returning.
    batch_max : largest batch [messages]; batch_wait_s : how long to wait to fill a batch [s].
    """

    def __init__(self, handler: Callable[[list[MqttMessage]], None], *, host: str = "127.0.0.1", port: int = 1883,
                 prefix: str = "parkcarbon", client_id: str = "parkcarbon-ingest", keepalive_s: int = 30,
                 batch_max: int = 500, batch_wait_s: float = 0.2, qos: int = 1) -> None:
        self.handler = handler
        self.host, self.port, self.prefix = host, port, prefix
        self.batch_max, self.batch_wait_s, self.qos = batch_max, batch_wait_s, qos
        self.keepalive_s = keepalive_s
        self._queue: queue.Queue[MqttMessage] = queue.Queue()
        self._gen = 0
        self._connected = threading.Event()
        self.stats = {"received": 0, "acked": 0, "batches": 0, "handler_errors": 0, "connects": 0}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  protocol=mqtt.MQTTv311, manual_ack=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- paho callbacks (network thread) -----------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object, reason_code: object,
                    _props: object) -> None:
        if getattr(reason_code, "is_failure", False):
            log.warning("MQTT connect refused: %s", reason_code)
            return
        self._gen += 1
        self.stats["connects"] += 1
        client.subscribe(topic_filter(self.prefix), qos=self.qos)
        self._connected.set()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: object, _flags: object, reason_code: object,
                       _props: object) -> None:
        self._connected.clear()
        log.info("MQTT disconnected: %s", reason_code)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.stats["received"] += 1
        self._queue.put(MqttMessage(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self._gen, time.monotonic()))

    # -- worker (caller's thread) -------------------------------------------------------------

    def _next_batch(self, timeout_s: float) -> list[MqttMessage]:
        try:
            first = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_max:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def run(self, *, stop: threading.Event | None = None, duration_s: float | None = None) -> dict[str, int]:
        """Connect and process until ``stop`` is set or ``duration_s`` passed; returns counters."""
        stop = stop or threading.Event()
        end = None if duration_s is None else time.monotonic() + duration_s
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        self.client.loop_start()
        try:
            while not stop.is_set() and (end is None or time.monotonic() < end):
                batch = self._next_batch(0.2)
                if not batch:
                    continue
                try:
                    self.handler(batch)
                except Exception:
                    self.stats["handler_errors"] += 1
                    log.exception("MQTT batch not stored; not acknowledged, reconnecting for redelivery")
                    self._drain()
                    self.client.disconnect()
                    self.client.loop_stop()
                    time.sleep(1.0)
                    self.client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
                    self.client.loop_start()
                    continue
                self.stats["batches"] += 1
                gen = self._gen
                for m in batch:
                    if m.qos > 0 and m.gen == gen and self._connected.is_set():
                        self.client.ack(m.mid, m.qos)
                        self.stats["acked"] += 1
        finally:
            self.client.disconnect()
            self.client.loop_stop()
        return dict(self.stats)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
