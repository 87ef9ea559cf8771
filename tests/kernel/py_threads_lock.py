"""Guest-side stress program: 4 threads increment a counter under one
threading.Lock, allocating as they go.

Run under the sentry and natively; both must print the same line.
"""

import threading

N_ITERS = 20000
N_THREADS = 4


def main() -> None:
    lock = threading.Lock()
    state = {"count": 0, "junk": []}

    def worker(k: int) -> None:
        for i in range(N_ITERS):
            with lock:
                state["count"] += 1
                if i % 64 == 0:
                    state["junk"] = [str(k * i)] * 8

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"lock: count={state['count']}")


if __name__ == "__main__":
    main()
