"""Latency and loss on chosen packets, for a kernel without ``sch_netem``: an NFQUEUE listener that holds each packet
for a normally distributed delay and then accepts it, or drops it with the given probability.

The partition bed (bench/partitions.py) runs it inside a namespace, after ``iptables ... -j NFQUEUE --queue-num N
--queue-bypass`` sends it the packets to degrade (so a listener that is gone lets packets through untouched). It
speaks the nfnetlink queue protocol directly over a netlink socket (``linux/netfilter/nfnetlink_queue.h``), copying
metadata only: the packet itself never leaves the kernel.

    python -m bench.netdelay --queue 7 --delay-ms 100 --jitter-ms 25 --loss-percent 2.5
"""

from __future__ import annotations

import argparse
import heapq
import random
import signal
import socket
import struct
import threading
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST = 1
NLMSG_ERROR = 2


def _attribute(kind: int, payload: bytes) -> bytes:
    header = struct.pack("=HH", 4 + len(payload), kind)
    return header + payload + b"\0" * (-len(payload) % 4)


def _message(kind: int, queue: int, attributes: bytes, *, sequence: int = 0) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + attributes
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, NLM_F_REQUEST, sequence, 0) + body


def _attributes(data: bytes) -> dict[int, bytes]:
    found, offset = {}, 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            break
        found[kind & 0x7FFF] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return found


class Delayer:
    def __init__(self, *, queue: int, delay_ms: float, jitter_ms: float, loss_percent: float) -> None:
        self.queue = queue
        self.delay = delay_ms / 1000
        self.jitter = jitter_ms / 1000
        self.loss = loss_percent / 100
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self.sock.bind((0, 0))
        self.pending: list[tuple[float, int, int]] = []
        self.condition = threading.Condition()
        self.stopped = threading.Event()
        self.send_lock = threading.Lock()
        self.counts = {"accepted": 0, "dropped": 0}

    def configure(self) -> None:
        bind = _attribute(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, socket.AF_INET))
        self.sock.send(_message(NFQNL_MSG_CONFIG, self.queue, bind, sequence=1))
        params = _attribute(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))
        maxlen = _attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 65536))
        self.sock.send(_message(NFQNL_MSG_CONFIG, self.queue, params + maxlen, sequence=2))

    def verdict(self, packet_id: int, verdict: int) -> None:
        attribute = _attribute(NFQA_VERDICT_HDR, struct.pack("!II", verdict, packet_id))
        with self.send_lock:
            self.sock.send(_message(NFQNL_MSG_VERDICT, self.queue, attribute))
        self.counts["accepted" if verdict == NF_ACCEPT else "dropped"] += 1

    def receive(self) -> None:
        while not self.stopped.is_set():
            try:
                data = self.sock.recv(1 << 20)
            except OSError:  # ENOBUFS: the kernel dropped notifications; the packets wait for a verdict, not us
                continue
            offset = 0
            while offset + 16 <= len(data):
                length, kind, _, _, _ = struct.unpack_from("=IHHII", data, offset)
                if length < 16:
                    break
                if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    header = _attributes(data[offset + 20 : offset + length]).get(NFQA_PACKET_HDR)
                    if header:
                        (packet_id,) = struct.unpack_from("!I", header)
                        self.schedule(packet_id)
                elif kind == NLMSG_ERROR:
                    (error,) = struct.unpack_from("=i", data, offset + 16)
                    if error:
                        raise OSError(-error, "nfnetlink queue refused a request")
                offset += (length + 3) & ~3

    def schedule(self, packet_id: int) -> None:
        if random.random() < self.loss:  # simulated loss, not security
            self.verdict(packet_id, NF_DROP)
            return
        due = time.monotonic() + max(0.0, random.gauss(self.delay, self.jitter))
        with self.condition:
            heapq.heappush(self.pending, (due, packet_id, NF_ACCEPT))
            self.condition.notify()

    def release(self) -> None:
        while True:
            with self.condition:
                while not self.pending or self.pending[0][0] > time.monotonic():
                    if self.stopped.is_set() and not self.pending:
                        return
                    wait = self.pending[0][0] - time.monotonic() if self.pending else 0.5
                    self.condition.wait(max(0.0, min(wait, 0.5)))
                _, packet_id, verdict = heapq.heappop(self.pending)
            self.verdict(packet_id, verdict)

    def run(self) -> None:
        self.configure()
        releaser = threading.Thread(target=self.release, daemon=True)
        releaser.start()
        receiver = threading.Thread(target=self.receive, daemon=True)
        receiver.start()
        print(f"delaying queue {self.queue}: {self.delay * 1000:.0f} ± {self.jitter * 1000:.0f} ms, "
              f"{self.loss * 100:.1f}% loss", flush=True)  # fmt: skip
        while not self.stopped.wait(0.5):
            pass
        with self.condition:  # packets held when stopped are let through at once
            self.pending = [(0.0, packet_id, verdict) for _, packet_id, verdict in self.pending]
            self.condition.notify()
        releaser.join(timeout=5)
        print(f"stopped: {self.counts}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=100)
    parser.add_argument("--jitter-ms", type=float, default=25)
    parser.add_argument("--loss-percent", type=float, default=2.5)
    arguments = parser.parse_args()
    delayer = Delayer(
        queue=arguments.queue,
        delay_ms=arguments.delay_ms,
        jitter_ms=arguments.jitter_ms,
        loss_percent=arguments.loss_percent,
    )
    signal.signal(signal.SIGTERM, lambda *_: delayer.stopped.set())
    signal.signal(signal.SIGINT, lambda *_: delayer.stopped.set())
    delayer.run()


if __name__ == "__main__":
    main()
