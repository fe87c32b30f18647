"""The same canvases built in Python: `python canvas.py` (in this directory)."""
from celery import chain, chord, group

from pipeline import app, extract, load, square

# The Node tasks by name: routes (celeryconfig.json) send them to the queue "node".
transform = app.signature("node.transform")
cube = app.signature("node.cube")
total = app.signature("node.total")

etl = chain(extract.s(4), transform, load.s()).apply_async()
print("chain:", etl.get(timeout=30))

both = group(square.s(3), cube.clone(args=(3,))).apply_async()
print("group:", both.get(timeout=30))

sums = chord([sig for x in (1, 2, 3) for sig in (square.s(x), cube.clone(args=(x,)))], total)()
print("chord:", sums.get(timeout=30))
