## contrib/: files for the systems around qpulse: a Grafana
## dashboard over the Prometheus metrics of `qpulsed --listen`, Prometheus
## alerting rules equivalent to the example budget file, and that file.
## tests/check-contrib.sh checks that all three agree.
EXTRA_DIST += contrib/grafana-dashboard.json contrib/prometheus-alerts.yml \
	contrib/budgets.example
