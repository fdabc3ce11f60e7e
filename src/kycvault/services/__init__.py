"""Use cases. Each is an async function taking the ``AppContext`` (the bundle of ports it may use)
and the calling ``Actor``; none reads globals or the environment."""
