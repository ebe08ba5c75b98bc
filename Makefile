# Guanxi — the README's commands. `make run` sets everything up and starts the CRM; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export GUANXI_HOST ?= $(HOST)
export GUANXI_PORT ?= $(PORT)

UI_OUT := src/guanxi/ui/index.html
UI_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	$(wildcard frontend/index.html frontend/vite.config.ts frontend/tsconfig*.json frontend/package.json)

.PHONY: run test test-py test-ui ui client bench lint fmt clean venv

run: venv ui
	@$(BIN)/guanxi db upgrade
	@$(BIN)/guanxi demo --if-empty
	@echo ""
	@echo "  Guanxi CRM  →  http://$(GUANXI_HOST):$(GUANXI_PORT)"
	@echo "  Demo logins (password guanxi123):"
	@echo "    admin      admin@xinghe-demo.cn"
	@echo "    sales rep  sales@xinghe-demo.cn"
	@echo "    manager    lina@xinghe-demo.cn"
	@echo ""
	@$(BIN)/guanxi serve

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	@cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

ui: $(UI_OUT)

$(UI_OUT): frontend/node_modules/.installed $(UI_SOURCES)
	@cd frontend && npm run --silent build

test: test-py test-ui

test-py: venv ui
	$(BIN)/pytest

test-ui: frontend/node_modules/.installed
	cd frontend && npm test --silent

# regenerate the committed OpenAPI document and the UI's TypeScript types from it
client: venv frontend/node_modules/.installed
	$(BIN)/guanxi openapi > frontend/openapi.json
	cd frontend && npm run --silent gen

bench: venv ui
	bash bench/all.sh

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

fmt: venv
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

clean:
	rm -rf $(VENV) frontend/node_modules src/guanxi/ui
