"""A tiny two-target suite for the report tests: a size parameter, a regression (v2 does
three times the work), a leak (v2 keeps every list) and a missed time budget."""

import sample_app

import perfkit

_KEPT = []


def _scale():
    return 3 if sample_app.VERSION == "v2" else 1


@perfkit.benchmark(params={"n": [200, 400, 800]}, budget="1s")
def work(n):
    m = n * _scale()
    return lambda: sample_app.work(m)


@perfkit.benchmark(budget="10us", memory_budget="1GB")
def build_list():
    def body():
        data = [str(i) for i in range(2000)]
        if sample_app.VERSION == "v2":
            _KEPT.append(data)
        return len(data)

    return body
