import subprocess
import sys


def test_demo_prints_our_figures_beside_the_seeds():
    result = subprocess.run(
        [sys.executable, "-m", "mlp.demo"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.strip().startswith("sigmoid: loss(X, y, reg=0.1)"))
    ours, reference, diff = row.split()[-3:]
    assert abs(float(ours) - 1.1822479803941373) < 1e-9 and float(diff) < 1e-9
    row = next(line for line in lines if line.strip().startswith("relu: final training loss"))
    assert abs(float(row.split()[-3]) - 0.0178562204869839) < 1e-9
    assert "ReLU's W1 gradients are" in result.stdout
