"""The only place that decides who may see and do what: workspace, record scope, fields."""
