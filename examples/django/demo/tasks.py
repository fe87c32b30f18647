from celery import shared_task


@shared_task
def add(x, y):
    return x + y


@shared_task
def tsum(numbers):
    """A chord body: the sum of its header's results."""
    return sum(numbers)
