"""transferkit benchmarks: tasks, suites, runner, reports and the ``transferkit`` CLI."""
