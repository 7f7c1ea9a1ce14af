# airlock: the two commands of the README's quick start, and what they rest on.
.PHONY: setup build smoke ci test-unit test-integration bench clean gc fuzz

NODE ?= node

setup:            ## install what is missing (host tools, npm deps, engine, base images, key)
	@bash scripts/setup.sh

build:            ## tsc into dist/, then the bundled CLI bin/airlock runs (scripts/bundle.mjs)
	npm run --silent build

smoke: setup      ## build, run sealed, sign, verify; prints the bundle path and PASS
	@$(NODE) bin/airlock smoke

ci: setup         ## the whole test suite (unit + integration on the real engine)
	@mkdir -p artifacts/test-results
	npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=artifacts/test-results/vitest.json --reporter=junit --outputFile.junit=artifacts/test-results/junit.xml

test-unit:
	npx --no-install vitest run --project unit

test-integration: setup
	npx --no-install vitest run --project integration

bench: setup      ## CLI start-up, per-cell cost and repro attribution, each as a ratio against its baseline measured in the same run
	@bash bench/all.sh

gc:
	@$(NODE) bin/airlock gc

clean:
	rm -rf dist

fuzz:             ## the spec fuzzer, thousands of seeded cases (AIRLOCK_FUZZ_RUNS, default 5000)
	AIRLOCK_FUZZ_RUNS=$${AIRLOCK_FUZZ_RUNS:-5000} npx --no-install vitest run --project unit src/spec/fuzz.test.ts --testTimeout=900000
