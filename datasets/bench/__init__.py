"""The benchmark: a synthetic police offence supply through the real pipeline, and the
warehouse at scale.

Everything happens in a partnership of its own ("bench", SYNTHETIC data only, users who cannot
sign in), so a hub's real or demo data are never touched, and what a run creates it deletes.

``bench_run`` generates a police_crime_offence file deterministically from the loaded
gazetteer's real Code-Point Open postcodes, supplies it through ``supply_create`` to a Celery
worker process it starts, and times each stage from the supply's audit trail. In the same run,
on the same file, it measures the limits and the peer the pipeline is judged against: a raw
``COPY FROM`` into an unlogged table and Frictionless ``validate``; then a CSV extract of the
loaded records through the extract service beside a raw ``COPY TO`` of the same rows; then
small files end to end beside ``COPY FROM``, and one batch of supplies processed by one worker
and by two.

``bench_fill`` puts synthetic sanitised records of several datasets over three years straight
into the records table by COPY; ``bench_scale`` then times what analysts do at that size.
"""
