"""The load benchmark (`python -m bench`): the real stack under many dashboards.

runner.py drives one run; stack.py starts the dashboard's processes (procs.py
keeps them bounded); generator.py is the WebSocket load generator, driven by
clients.py, and analysis.py reads what its clients saw; writer.py makes the
marker changes and probes the channel layer; publisher.py feeds the fan-out
comparison; dashboard_load.py and fanout.py are the two measurements;
sampler.py, profiling.py and stats.py measure; report.py writes the JSON and
the plot.
"""
