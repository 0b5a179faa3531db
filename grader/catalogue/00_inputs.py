"""Known-wrong and alternative-correct implementations for 00_inputs."""

from grader.catalogue import Alternative, Wrong

ENTRIES = [
    # ---- fit_standardizer
    Wrong("fit_standardizer", "returns the variance instead of the standard deviation",
          edits=[("std = X.std(axis=0)", "std = X.var(axis=0)")],
          loses=("test_fit_standardizer",)),
    Wrong("fit_standardizer", "reduces over the wrong axis (per sample, axis=1)",
          edits=[("mean = X.mean(axis=0)", "mean = X.mean(axis=1)"),
                 ("std = X.std(axis=0)", "std = X.std(axis=1)")],
          loses=("test_fit_standardizer",)),
    Wrong("fit_standardizer", "leaves the standard deviation of a constant feature at 0",
          edits=[("    std = np.where(std == 0, 1.0, std)\n", "")],
          loses=("test_fit_standardizer",)),
    Wrong("fit_standardizer", "uses the sample standard deviation (ddof=1) instead of ddof=0",
          edits=[("std = X.std(axis=0)", "std = X.std(axis=0, ddof=1)")],
          loses=("test_fit_standardizer",)),
    Alternative("fit_standardizer", "computes the statistics by hand with a threshold", source='''
def fit_standardizer(X):
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    mean = X.sum(axis=0) / n
    std = np.sqrt(((X - mean) ** 2).sum(axis=0) / n)
    std[std < 1e-300] = 1.0
    return mean, std
'''),
    Alternative("fit_standardizer", "returns a list and uses keepdims then ravel", source='''
def fit_standardizer(X):
    X = np.array(X, dtype=float)
    mean = np.mean(X, axis=0, keepdims=True)
    std = np.std(X, axis=0, keepdims=True)
    std[std == 0] = 1
    return [mean.ravel(), std.ravel()]
'''),
    # ---- standardize
    Wrong("standardize", "modifies the caller's array in place",
          source='''
def standardize(X, mean, std):
    X -= mean
    X /= std
    return X
''', loses=("test_standardize",)),
    Wrong("standardize", "divides by the variance instead of the standard deviation",
          edits=[("dtype=float) - mean) / std", "dtype=float) - mean) / std**2")],
          loses=("test_standardize",)),
    Wrong("standardize", "forgets to subtract the mean",
          edits=[("np.asarray(X, dtype=float) - mean", "np.asarray(X, dtype=float)")],
          loses=("test_standardize",)),
    Alternative("standardize", "subtracts and divides in two steps on a copy", source='''
def standardize(X, mean, std):
    Z = np.array(X, dtype=float, copy=True)
    Z = Z - mean[None, :]
    return Z / std[None, :]
'''),
    Alternative("standardize", "works in place on its own float copy", source='''
def standardize(X, mean, std):
    Z = X.astype(float)        # astype copies
    Z -= mean
    Z /= std
    return Z
'''),
    # ---- standardize_splits
    Wrong("standardize_splits", "standardizes each split with its own statistics (leakage)",
          source='''
def standardize_splits(X_train, X_val, X_test):
    mean, std = fit_standardizer(X_train)
    out = []
    for X in (X_train, X_val, X_test):
        m, s = fit_standardizer(X)
        out.append(standardize(X, m, s))
    return out[0], out[1], out[2], (mean, std)
''', loses=("test_standardize_splits",)),
    Wrong("standardize_splits", "standardizes the test set with its own statistics (leakage)",
          edits=[("standardize(X_test, mean, std)",
                  "standardize(X_test, *fit_standardizer(X_test))")],
          loses=("test_standardize_splits",)),
    Wrong("standardize_splits", "fits the statistics on the test set",
          edits=[("fit_standardizer(X_train)", "fit_standardizer(X_test)")],
          loses=("test_standardize_splits",)),
    Wrong("standardize_splits", "modifies the caller's arrays in place", source='''
def standardize_splits(X_train, X_val, X_test):
    mean, std = fit_standardizer(X_train)
    for X in (X_train, X_val, X_test):
        X -= mean
        X /= std
    return X_train, X_val, X_test, (mean, std)
''', loses=("test_standardize_splits",)),
    Alternative("standardize_splits", "fits on the training set without the helper functions",
                source='''
def standardize_splits(X_train, X_val, X_test):
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scale = lambda X: (X - mean) / std
    return scale(X_train), scale(X_val), scale(X_test), (mean, std)
'''),
    Alternative("standardize_splits", "returns lists built in a comprehension", source='''
def standardize_splits(X_train, X_val, X_test):
    stats = fit_standardizer(X_train)
    return [*[standardize(X, *stats) for X in (X_train, X_val, X_test)], list(stats)]
'''),
    # ---- linear_regression_hessian
    Wrong("linear_regression_hessian", "leaves out the factor 2",
          edits=[("return 2.0 / len(X) * X_tilde.T @ X_tilde",
                  "return X_tilde.T @ X_tilde / len(X)")],
          loses=("test_linear_regression_hessian",)),
    Wrong("linear_regression_hessian", "does not divide by N",
          edits=[("return 2.0 / len(X) * X_tilde.T @ X_tilde",
                  "return 2.0 * X_tilde.T @ X_tilde")],
          loses=("test_linear_regression_hessian",)),
    Wrong("linear_regression_hessian", "forgets the bias column",
          edits=[("X_tilde = np.column_stack([X, np.ones(len(X))])", "X_tilde = X")],
          loses=("test_linear_regression_hessian",)),
    Wrong("linear_regression_hessian", "puts the bias first instead of last",
          edits=[("np.column_stack([X, np.ones(len(X))])",
                  "np.column_stack([np.ones(len(X)), X])")],
          loses=("test_linear_regression_hessian",)),
    Alternative("linear_regression_hessian", "builds the blocks separately", source='''
def linear_regression_hessian(X):
    X = np.asarray(X, dtype=float)
    n, d = X.shape
    H = np.empty((d + 1, d + 1))
    H[:d, :d] = X.T @ X
    H[:d, d] = H[d, :d] = X.sum(axis=0)
    H[d, d] = n
    return 2 * H / n
'''),
    # ---- gd_stability
    Wrong("gd_stability", "uses 1 / lambda_max as the largest stable learning rate",
          edits=[("return 2.0 / eigenvalues[-1],", "return 1.0 / eigenvalues[-1],")],
          loses=("test_gd_stability",)),
    Wrong("gd_stability", "uses the smallest eigenvalue instead of the largest",
          edits=[("return 2.0 / eigenvalues[-1],", "return 2.0 / eigenvalues[0],")],
          loses=("test_gd_stability",)),
    Wrong("gd_stability", "inverts the condition number (lambda_min / lambda_max)",
          edits=[("eigenvalues[-1] / eigenvalues[0]", "eigenvalues[0] / eigenvalues[-1]")],
          loses=("test_gd_stability",)),
    Wrong("gd_stability", "reads the eigenvalues off the diagonal",
          edits=[("eigenvalues = np.linalg.eigvalsh(H)", "eigenvalues = np.sort(np.diag(H))")],
          loses=("test_gd_stability",)),
    Alternative("gd_stability", "uses np.linalg.eig and takes real parts", source='''
def gd_stability(H):
    values = np.linalg.eig(H)[0].real
    lam_max, lam_min = values.max(), values.min()
    return 2 / lam_max, lam_max / lam_min
'''),
    # ---- gd_convergence
    Wrong("gd_convergence", "uses 1 / lambda_max as the best learning rate", source='''
def gd_convergence(H, tol):
    eigenvalues = np.linalg.eigvalsh(H)
    lr_best = 1.0 / eigenvalues[-1]
    factor = np.max(np.abs(1 - lr_best * eigenvalues))
    if factor == 0.0:
        return lr_best, factor, 1
    return lr_best, factor, int(np.ceil(np.log(tol) / np.log(factor)))
''', loses=("test_gd_convergence",)),
    Wrong("gd_convergence", "uses the factor 1 - 1 / kappa at the best learning rate",
          edits=[("factor = (lam_max - lam_min) / (lam_max + lam_min)",
                  "factor = 1.0 - lam_min / lam_max")],
          loses=("test_gd_convergence",)),
    Wrong("gd_convergence", "rounds the number of steps down",
          edits=[("int(np.ceil(np.log(tol) / np.log(factor)))",
                  "int(np.log(tol) / np.log(factor))")],
          loses=("test_gd_convergence",)),
    Wrong("gd_convergence", "returns 0 steps when all eigenvalues are equal", source='''
def gd_convergence(H, tol):
    eigenvalues = np.linalg.eigvalsh(H)
    lam_min, lam_max = eigenvalues[0], eigenvalues[-1]
    factor = (lam_max - lam_min) / (lam_max + lam_min)
    with np.errstate(divide="ignore"):
        steps = int(np.ceil(np.log(tol) / np.log(factor)))
    return 2.0 / (lam_min + lam_max), factor, steps
''', loses=("test_gd_convergence",)),
    Wrong("gd_convergence", "reads the eigenvalues of H off its diagonal",
          edits=[("eigenvalues = np.linalg.eigvalsh(H)", "eigenvalues = np.sort(np.diag(H))")],
          loses=("test_gd_convergence",)),
    Alternative("gd_convergence", "takes the slowest factor over all eigenvalues and counts "
                "steps in a loop", source='''
def gd_convergence(H, tol):
    lam = np.linalg.eigvalsh(H)
    lr = 2 / (lam.min() + lam.max())
    factor = float(np.max(np.abs(1 - lr * lam)))
    steps = 1
    while factor ** steps > tol:
        steps += 1
    return lr, factor, steps
'''),
    Alternative("gd_convergence", "writes everything with kappa and the math module", source='''
import math

def gd_convergence(H, tol):
    lam = np.linalg.eigvalsh(H)
    kappa = lam[-1] / lam[0]
    lr_best = 2 / (lam[-1] * (1 + 1 / kappa))
    factor = (kappa - 1) / (kappa + 1)
    if factor <= 0:
        return lr_best, 0.0, 1
    return lr_best, factor, math.ceil(math.log(tol) / math.log(factor))
'''),
    # ---- questions
    Wrong("q_leakage", "answers (a): without labels nothing can leak", source='q_leakage = "a"\n',
          loses=("test_q_leakage",)),
    Wrong("q_leakage", "answers (c): training diverges", source='q_leakage = "c"\n',
          loses=("test_q_leakage",)),
    Wrong("q_leakage", "answers (d): more data make better statistics, whatever the split",
          source='q_leakage = "d"\n', loses=("test_q_leakage",)),
    Alternative("q_leakage", "computes the letter", source='q_leakage = "abcd"[1]\n'),
    Wrong("q_steps", "answers kappa itself", source="q_steps = 2390\n", loses=("test_q_steps",)),
    Wrong("q_steps", "counts the steps at lr = 1 / lambda_max (factor 1 - 1 / kappa)",
          source="q_steps = 33020\n", loses=("test_q_steps",)),
    Wrong("q_steps", "uses the square root of kappa (the rate of momentum methods)",
          source="q_steps = 338\n", loses=("test_q_steps",)),
    Alternative("q_steps", "uses the large-kappa approximation kappa / 2 * ln(1 / tol)",
                source="q_steps = round(2390 / 2 * np.log(1e6))\n"),
    Alternative("q_steps", "answers the count measured on the flats", source="q_steps = 16515\n"),
    Wrong("q_kappa", "answers 1: standardized features give round contours",
          source="q_kappa = 1.0\n", loses=("test_q_kappa",)),
    Wrong("q_kappa", "takes the diagonal entry 1 for the largest eigenvalue",
          source="q_kappa = 10.0\n", loses=("test_q_kappa",)),
    Wrong("q_kappa", "takes the bias's eigenvalue for the smallest one",
          source="q_kappa = 1.9\n", loses=("test_q_kappa",)),
    Alternative("q_kappa", "writes the formula", source="q_kappa = (1 + 0.9) / (1 - 0.9)\n"),
    Alternative("q_kappa", "answers an integer", source="q_kappa = 19\n"),
]
