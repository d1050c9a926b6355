"""The sample's Celery app: the broker and the result store are the stack's Redis (REDIS_URL
from the env file). Run by the worker role (worker_processes):

    {name: celery, command: "celery -A sample.celery worker -l INFO"}

and tried from the work container with: manage shell -c "from sample.celery import add; print(add.delay(2, 3).get(timeout=30))"
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample.settings")

app = Celery("sample", broker=os.environ.get("REDIS_URL", "memory://"),
             backend=os.environ.get("REDIS_URL") or None)
app.conf.broker_connection_retry_on_startup = True


@app.task
def add(x, y):
    """Adds two numbers in the worker: a task that round-trips through Redis."""
    return x + y
