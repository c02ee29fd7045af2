"""The quick-start worker: handlers are plain Python functions."""
import math
import time

from pyvisor_worker import Context, handler


@handler
def add(a, b):
    return a + b


@handler
def primes(limit: int):
    """CPU-bound work: every prime below `limit`."""
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for i in range(2, int(math.isqrt(limit)) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(sieve[i * i :: i]))
    return sum(sieve)


@handler
def slow_echo(ctx: Context, value, ms: int = 20):
    """IO-bound work that notices cancellation."""
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end and not ctx.cancelled:
        time.sleep(0.001)
    return value


@handler
def divide(a, b):
    return a / b


@handler
def tokens(text: str, ms: int = 15):
    """A generator handler: `pool.stream("tokens", ...)` receives each word as it is produced."""
    for word in text.split():
        time.sleep(ms / 1000)  # stands in for a model producing one token at a time
        yield word
