"""The supply pipeline: validate → geocode → sanitise → load → report.

Each stage is a plain function of a supply id, run by a thin Celery task. A stage first
claims the supply with a conditional update (so two workers never run the same stage), holds
a lease that every chunk renews, and on success hands the supply to the next stage in the
same update that releases the lease. A stage may be run again from scratch: it rewrites its
own outputs and nothing else. Data move between stages as encrypted chunks (``staging``);
only ``load`` touches the warehouse, in one transaction.

``stages`` holds the machinery (claim, lease, hand-over, run); each stage has a module of its
own.
"""
