package dev.pushrelay.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** Median and spread (min–max) over repeated runs. */
final class Stats {
  private Stats() {}

  static double median(List<Double> values) {
    List<Double> s = new ArrayList<>(values);
    Collections.sort(s);
    int n = s.size();
    if (n == 0) {
      return Double.NaN;
    }
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  /** "median (min–max)" with the given number of decimals. */
  static String medianSpread(List<Double> values, int decimals) {
    if (values.isEmpty()) {
      return "n/a";
    }
    String f = "%." + decimals + "f";
    double min = Collections.min(values);
    double max = Collections.max(values);
    return String.format(Locale.ROOT, f + " (" + f + "–" + f + ")", median(values), min, max);
  }

  static String fmt(double v, int decimals) {
    return String.format(Locale.ROOT, "%." + decimals + "f", v);
  }
}
