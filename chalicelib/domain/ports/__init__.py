"""What the domain needs from the world, as Protocols over frozen dataclasses, one module per area.

Stores (chalicelib/store) and gateways implement these; the domain imports only from here. Arrows
point down: api -> domain -> ports <- store/gateways.
"""
