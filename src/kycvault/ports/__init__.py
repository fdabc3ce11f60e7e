"""Ports: the interfaces through which services reach the outside world, one module per
concept. Ports import only the domain and the standard library; adapters implement them."""
