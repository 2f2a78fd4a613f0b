"""Show the deprecations that JAX libraries record silently, as `jax.monitoring` events.

Some deprecated calls log nothing and warn nothing: Orbax's `Checkpointer.save(path, item)`
and `restore(path, item=None)` (the style of the classic Flax guide) only record the event
`/jax/orbax/deprecation/checkpointer_legacy_args`. `show_deprecation_events` makes them
visible, one line each, in the same style as `ckpt_widgets.show_logs`.

>>> import jax
>>> with show_deprecation_events():
...     jax.monitoring.record_event('/jax/demo/deprecation/old_call')
deprecation event: /jax/demo/deprecation/old_call
"""

from __future__ import annotations

import contextlib
from typing import Iterator

MARKER = '/deprecation/'


@contextlib.contextmanager
def show_deprecation_events(marker: str = MARKER) -> Iterator[list[str]]:
    """Print each distinct `jax.monitoring` event whose name contains `marker`, after the block.

    Yields the list of event names as they arrive (in order, repeats included); the printed
    lines are each distinct name once, in order of first arrival, so the output is the same
    from run to run. The listener is removed when the block ends, even on an exception.
    """
    import jax

    names: list[str] = []

    def listen(event: str, **kwargs) -> None:
        del kwargs  # only the name says what was deprecated
        if marker in event:
            names.append(event)

    jax.monitoring.register_event_listener(listen)
    try:
        yield names
    finally:
        jax.monitoring.unregister_event_listener(listen)
        for name in dict.fromkeys(names):
            print(f'deprecation event: {name}')
