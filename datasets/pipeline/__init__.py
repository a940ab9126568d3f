"""The supply pipeline: one pass that checks, geocodes, sanitises and loads the file chunk by
chunk (``process``), then the report.

Each stage is a plain function of a supply id, run by a thin Celery task. A stage first
claims the supply with a conditional update (so two workers never run the same stage), holds
a lease that every chunk renews, and on success hands the supply to the next stage in the
same update that releases the lease. A stage may be run again from scratch: the pass reads
the stored raw file again, and its load commits in one transaction or not at all; of the rows
on their way, only the rejected ones are written to disk (encrypted, for the supplier).

``stages`` holds the machinery (claim, lease, hand-over, run); each step of the pass has a
module of its own.
"""
