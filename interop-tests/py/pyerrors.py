"""A user's own exception, which celeriac maps to a TS class with app.registerError
(interop-tests/errors-cross-as-classes.test.ts, interop-tests/apps/tsapp.js)."""


class PaymentDeclined(Exception):
    """Raised by py.decline; ts.decline throws its TS counterpart."""
