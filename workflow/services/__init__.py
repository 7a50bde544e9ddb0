"""Use cases: each function is one user action and runs inside the caller's unit of work
(:func:`workflow.adapters.database.transaction`, or the web app's session per request), so an
action either happens completely or not at all."""
