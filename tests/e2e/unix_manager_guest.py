"""The guest side of the multiprocessing.Manager e2e test: a dict and a list shared with a forked Process."""

import multiprocessing as mp


def worker(d, lst):
    d["child"] = "hello from child"
    lst.append(42)

if __name__ == "__main__":
    with mp.Manager() as m:
        d = m.dict()
        lst = m.list([1, 2])
        d["parent"] = 1
        p = mp.Process(target=worker, args=(d, lst))
        p.start()
        p.join()
        print(sorted(d.items()), list(lst), p.exitcode)
