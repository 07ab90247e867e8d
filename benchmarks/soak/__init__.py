"""The parts of the `soak` scenario (`benchmarks/scenarios/soak.py`): its own hub behind a
proxy that outlives the hub (`site`, `proxy`), the clients' requests and what each one
got (`calls`, `records`), the client threads (`load`), the faults in the middle
(`faults`), the workers' memory and file descriptors (`vitals`), the checks at the end
(`checks`) and the rows of the table (`table`)."""
