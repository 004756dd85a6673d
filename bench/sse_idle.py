#!/usr/bin/env python3
"""Holds N concurrent idle SSE streams open through chatd and reads chatd's memory.

Used by bench/sse_idle.sh (which starts the fake upstream and chatd); stdlib only.

  sse_idle.py --port P --key K --pid PID --streams N [--in-flight 200] [--settle 3] [--rounds 1]

Each stream is POST /v1/chat/completions (stream: true) whose user message holds "#stall": the
fake upstream sends the head and 2 deltas, then stays silent until the connection is closed. A
stream counts as established once a data: event with non-empty delta content has arrived; from
then on it reads and discards whatever comes (heartbeat comments) until the end of the run.

Steps: a warm-up (a few streams opened, established and closed), chatd's memory read ("base");
N streams opened, at most --in-flight connecting at once; --settle seconds of quiet; memory read
again ("held"); everything closed; memory read a last time ("after_close"). With --rounds R the
open/hold/close cycle is repeated R times in the same chatd (RSS after churn). Prints one JSON
object on stdout; exits 1 when more than --max-failures streams failed or dropped.
"""

import argparse
import asyncio
import json
import os
import sys
import time

WARMUP_STREAMS = 20


def memory(pid):
    """chatd's memory figures in KiB from /proc (status and smaps_rollup), plus fds and threads."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "VmData"):
                out[key] = int(value.split()[0])
            elif key == "Threads":
                out[key] = int(value)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Private_Dirty", "Anonymous"):
                    out["smaps_" + key] = int(value.split()[0])
    except OSError:
        pass
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


class Stream:
    def __init__(self, args, request):
        self.args = args
        self.request = request
        self.writer = None
        self.established = asyncio.get_running_loop().create_future()
        self.dropped = False
        self.error = None

    async def run(self, stop):
        try:
            reader, self.writer = await asyncio.open_connection("127.0.0.1", self.args.port)
            self.writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            if b" 200 " not in status + b" ":
                body = await asyncio.wait_for(reader.read(2000), 2)
                raise RuntimeError((status + b" " + body).decode(errors="replace")[:300])
            buf = b""
            while not self.established.done():
                data = await reader.read(65536)
                if not data:
                    raise RuntimeError("closed before the first content delta")
                buf += data
                # Events are small and each one arrives in one chunk; a content delta is a data:
                # line whose delta has a non-empty "content".
                for line in buf.split(b"\n"):
                    if line.startswith(b"data: ") and b'"content":"' in line and b'"content":""' not in line:
                        self.established.set_result(True)
                        break
                buf = buf[buf.rfind(b"\n") + 1:]
            reading = asyncio.ensure_future(self._drain(reader))
            await asyncio.wait([reading, stop], return_when=asyncio.FIRST_COMPLETED)
            if reading.done():
                self.dropped = True
            reading.cancel()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure of one stream is counted, not fatal
            self.error = f"{type(e).__name__}: {e}"
            if not self.established.done():
                self.established.set_result(False)
        finally:
            if self.writer is not None:
                self.writer.transport.abort()

    async def _drain(self, reader):
        while await reader.read(65536):
            pass


async def open_streams(args, request, n, stop):
    """Starts n streams, at most args.in_flight not yet established at once; returns them once
    every one is established or failed."""
    sem = asyncio.Semaphore(args.in_flight)
    streams, tasks = [], []

    async def one():
        await sem.acquire()
        s = Stream(args, request)
        streams.append(s)
        task = asyncio.ensure_future(s.run(stop))
        tasks.append(task)
        try:
            await asyncio.wait_for(asyncio.shield(s.established), args.connect_timeout)
        except asyncio.TimeoutError:
            s.error = "timeout waiting for the first content delta"
            task.cancel()
        finally:
            sem.release()

    await asyncio.gather(*(one() for _ in range(n)))
    return streams, tasks


async def close_all(tasks, stop):
    if not stop.done():
        stop.set_result(None)
    await asyncio.gather(*tasks, return_exceptions=True)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--pid", type=int, required=True, help="chatd's PID, for /proc")
    p.add_argument("--streams", type=int, required=True)
    p.add_argument("--in-flight", type=int, default=200)
    p.add_argument("--settle", type=float, default=3.0)
    p.add_argument("--connect-timeout", type=float, default=60.0)
    p.add_argument("--max-failures", type=int, default=5, help="over all cycles")
    p.add_argument("--rounds", type=int, default=1,
                   help="open/hold/close cycles in the same chatd; the first is the headline figure")
    args = p.parse_args()

    body = json.dumps({"model": "fake-gpt", "stream": True,
                       "messages": [{"role": "user", "content": "hold #stall"}]}).encode()
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n"
               f"Authorization: Bearer {args.key}\r\nContent-Type: application/json\r\n"
               f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    loop = asyncio.get_running_loop()
    result = {"streams": args.streams, "in_flight": args.in_flight}

    result["start"] = memory(args.pid)
    stop = loop.create_future()
    warm, warm_tasks = await open_streams(args, request, WARMUP_STREAMS, stop)
    await close_all(warm_tasks, stop)
    bad = [s.error for s in warm if s.error]
    if bad:
        sys.exit(f"warm-up failed: {bad[0]}")
    await asyncio.sleep(1.0)
    result["base"] = memory(args.pid)

    failures = 0
    result["cycles"] = []
    for cycle in range(args.rounds):
        stop = loop.create_future()
        t0 = time.monotonic()
        streams, tasks = await open_streams(args, request, args.streams, stop)
        ramp = round(time.monotonic() - t0, 2)
        await asyncio.sleep(args.settle)
        held = memory(args.pid)
        failed = [s for s in streams if s.error]
        dropped = [s for s in streams if s.dropped]
        await close_all(tasks, stop)
        await asyncio.sleep(2.0)
        after = memory(args.pid)
        failures += len(failed) + len(dropped)
        if cycle == 0:
            result.update(ramp_s=ramp, held=held, after_close=after, failed=len(failed),
                          dropped_while_held=len(dropped), errors=sorted({s.error for s in failed})[:5],
                          established=sum(1 for s in streams if s.established.done() and s.established.result()))
        result["cycles"].append({"held": held["VmRSS"], "after_close": after["VmRSS"],
                                 "failed": len(failed) + len(dropped)})
        print(f"streams={args.streams} cycle {cycle + 1}: {len(streams) - len(failed)} held in {ramp} s, "
              f"RSS held {held['VmRSS']} KiB, after closing {after['VmRSS']} KiB", file=sys.stderr)
    print(json.dumps(result))
    if failures > args.max_failures:
        print(f"{failures} streams failed or dropped: {result['errors']}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
