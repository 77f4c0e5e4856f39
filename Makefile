# Thin aliases: ./dev holds the commands CI runs.
.PHONY: demo test lint lock
demo: ; ./dev demo
test: ; ./dev test
lint: ; ./dev lint
lock: ; ./dev lock
