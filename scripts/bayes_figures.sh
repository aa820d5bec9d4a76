#!/bin/sh
# Re-measure every figure of docs/bayes.md on the current model (e.g. Model 2.0), in one command:
#     nice -n 10 sh scripts/bayes_figures.sh results/bayes
# Needs the venv's sd-model and python on PATH (or run as: PATH=.venv/bin:$PATH sh scripts/bayes_figures.sh).
# Steps: in-sample fit 1978-2015; fit to 2010 with 2011-2015 predicted; SBC of the test model and
# of the shipped model with matched priors (`sd-model sbc`: two processes of fits in lockstep, 38 walkers x the
# calibration's default steps, 6,000, unless SBC_STEPS says otherwise: about 5 hours of two idle cores for SBC_DATASETS=50) and the Laplace yardstick on its data sets; compare under the posterior. Each step resumes after a kill
# (the sd-model calibrate steps with --resume, the SBC steps keep their finished data sets; the others are rerun).
set -e
OUT=${1:-results/bayes}
WORKERS=${WORKERS:-2}
mkdir -p "$OUT"
sd-model calibrate --method bayes --workers "$WORKERS" --out "$OUT/fit" --resume -q    # the default configuration
sd-model calibrate --method bayes --until 2010 --workers "$WORKERS" --out "$OUT/oos" --resume -q
python scripts/bayes_sbc.py --datasets 50 --out "$OUT/sbc-linear"
# the shipped SBC as two one-core processes sharing the data sets of one folder (--first), then the tables
N=${SBC_DATASETS:-50}
STEPS=${SBC_STEPS:+--steps $SBC_STEPS}
sd-model sbc --datasets $((N / 2)) $STEPS --out "$OUT/sbc-shipped" > "$OUT/sbc-a.log" 2>&1 &
A=$!
sd-model sbc --datasets "$N" --first $((N / 2)) $STEPS --out "$OUT/sbc-shipped" > "$OUT/sbc-b.log" 2>&1 &
B=$!
wait $A
wait $B
sd-model sbc --datasets "$N" $STEPS --out "$OUT/sbc-shipped"
sd-model sbc --laplace-only --datasets "$N" --workers "$WORKERS" --out "$OUT/sbc-shipped"
sd-model compare historical unbalanced balanced --posterior "$OUT/fit/posterior.nc" --samples 200 --until 2050 \
    --workers "$WORKERS" --out "$OUT/compare" --no-progress
python scripts/bayes_summary.py "$OUT"
