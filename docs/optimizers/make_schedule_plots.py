"""Draw every learning-rate schedule with its own ``plot()`` into docs/optimizers/img/.

Run: ``python docs/optimizers/make_schedule_plots.py`` (needs matplotlib).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import tideflow as flow  # noqa: E402

OUT = Path(__file__).resolve().parent / "img"
o = flow.optimizer
SCHEDULES = {
    "piecewise_constant": o.PiecewiseConstantScheduler([300, 600], [0.1, 0.01, 0.001]),
    "piecewise_scaling": o.PiecewiseScalingScheduler(0.1, [300, 600], 0.1),
    "cosine_warmup": o.CosineScheduler(0.1, 1000, alpha=0.05, warmup=o.warmup.linear(100, 0.1)),
    "linear_cosine": o.LinearCosineScheduler(0.1, 1000, num_periods=2.0),
    "polynomial": o.PolynomialScheduler(0.1, 800, end_learning_rate=0.001, power=2.0),
    "polynomial_cycle": o.PolynomialScheduler(0.1, 300, end_learning_rate=0.001, cycle=True),
    "exponential": o.ExponentialScheduler(0.1, 200, 0.5),
    "exponential_staircase": o.ExponentialScheduler(0.1, 200, 0.5, staircase=True),
    "inverse_time": o.InverseTimeScheduler(0.1, 100, 0.5),
    "natural_exp": o.NaturalExpScheduler(0.1, 200, 0.5, warmup=o.warmup.constant(100, 0.2)),
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, schedule in SCHEDULES.items():
        fig, ax = plt.subplots(figsize=(5, 3))
        schedule.plot(1000, ax=ax)
        ax.set_title(f"{type(schedule).__name__} ({name})", fontsize=9)
        fig.tight_layout()
        fig.savefig(OUT / f"{name}.png", dpi=80)
        plt.close(fig)
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
