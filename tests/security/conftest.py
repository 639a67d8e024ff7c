from tests.payments.conftest import (  # noqa: F401  (fixtures shared with payments)
    Buyer,
    buyer,
    event_and_type,
    swish,
    swish_without_worker,
    wait_for,
)
