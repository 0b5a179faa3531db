"""Known-wrong and alternative-correct implementations for 00_inputs."""

from grader.catalogue import Alternative, Wrong

ENTRIES = [
    # ---- fit_standardizer
    Wrong("fit_standardizer", "divides by the variance instead of the standard deviation",
          edits=[("std = X.std(axis=0)", "std = X.var(axis=0)")],
          loses=("test_fit_standardizer", "test_standardize_splits")),
    Wrong("fit_standardizer", "normalizes across the wrong axis (per sample, axis=1)",
          edits=[("mean = X.mean(axis=0)", "mean = X.mean(axis=1)"),
                 ("std = X.std(axis=0)", "std = X.std(axis=1)")],
          loses=("test_fit_standardizer", "test_standardize_splits")),
    Wrong("fit_standardizer", "divides by zero on a constant feature (no std = 1 guard)",
          edits=[("    std = np.where(std == 0, 1.0, std)\n", "")],
          loses=("test_fit_standardizer", "test_standardize_splits")),
    Wrong("fit_standardizer", "uses the sample standard deviation (ddof=1) instead of ddof=0",
          edits=[("std = X.std(axis=0)", "std = X.std(axis=0, ddof=1)")],
          loses=("test_fit_standardizer", "test_standardize_splits")),
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
          loses=("test_standardize", "test_standardize_splits")),
    Wrong("standardize", "forgets to subtract the mean",
          edits=[("np.asarray(X, dtype=float) - mean", "np.asarray(X, dtype=float)")],
          loses=("test_standardize", "test_standardize_splits")),
    Alternative("standardize", "subtracts and divides in two steps on a copy", source='''
def standardize(X, mean, std):
    Z = np.array(X, dtype=float, copy=True)
    Z = Z - mean[None, :]
    return Z / std[None, :]
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
    Alternative("standardize_splits", "fits on the training set without the helper functions",
                source='''
def standardize_splits(X_train, X_val, X_test):
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    scale = lambda X: (X - mean) / std
    return scale(X_train), scale(X_val), scale(X_test), (mean, std)
'''),
    # ---- linear_regression_hessian
    Wrong("linear_regression_hessian", "leaves out the factor 2",
          edits=[("return 2.0 / len(X) * X_tilde.T @ X_tilde",
                  "return X_tilde.T @ X_tilde / len(X)")],
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
    Wrong("gd_stability", "reads the eigenvalues off the diagonal",
          edits=[("eigenvalues = np.linalg.eigvalsh(H)", "eigenvalues = np.sort(np.diag(H))")],
          loses=("test_gd_stability",)),
    Alternative("gd_stability", "uses np.linalg.eig and takes real parts", source='''
def gd_stability(H):
    values = np.linalg.eig(H)[0].real
    lam_max, lam_min = values.max(), values.min()
    return 2 / lam_max, lam_max / lam_min
'''),
]
