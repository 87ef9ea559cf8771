"""Guest-side stress program: 4 worker threads drain a queue.Queue.

Run under the sentry (``python3 -m sentry.cli /usr/bin/python3 this.py``)
and natively; both must print the same line. Exercises the GIL's condition
variables, queue.Queue's locks and malloc from several threads.
"""

import queue
import threading

N_ITEMS = 2000
N_THREADS = 4


def main() -> None:
    q: queue.Queue[int | None] = queue.Queue()
    results: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        local = []
        while True:
            item = q.get()
            if item is None:
                break
            local.append(item * item)
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(N_THREADS)]
    for t in threads:
        t.start()
    for i in range(N_ITEMS):
        q.put(i)
    for _ in threads:
        q.put(None)
    for t in threads:
        t.join()
    print(f"queue: items={len(results)} sum={sum(results)}")


if __name__ == "__main__":
    main()
