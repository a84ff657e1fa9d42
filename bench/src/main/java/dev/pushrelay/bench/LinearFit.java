package dev.pushrelay.bench;

/** Least-squares line y = intercept + slope·x; at least two distinct x. */
record LinearFit(double slope, double intercept) {

  static LinearFit of(double[] x, double[] y) {
    if (x.length != y.length || x.length < 2) {
      throw new IllegalArgumentException("a fit needs at least two points, got " + x.length);
    }
    double mx = 0;
    double my = 0;
    for (int i = 0; i < x.length; i++) {
      mx += x[i];
      my += y[i];
    }
    mx /= x.length;
    my /= y.length;
    double sxy = 0;
    double sxx = 0;
    for (int i = 0; i < x.length; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
    }
    if (sxx == 0) {
      throw new IllegalArgumentException("a fit needs at least two distinct x");
    }
    double slope = sxy / sxx;
    return new LinearFit(slope, my - slope * mx);
  }
}
