// A stand-in for `pmd check`: the npm package @salesforce/code-analyzer-pmd-engine ships PMD 7's
// jars but not pmd-cli. Runs the given rules over a directory with the cache off and writes PMD's
// own report (json, csv, xml, text or sarif).
// Usage: java -cp 'java-lib/*:launcher' PmdCheck <rules, comma-separated> <input dir> <format> <report file>
// Exit codes as the PMD 7 CLI: 0 no violations, 4 violations, 5 files PMD could not process,
// 1 a rule that did not load or another error, 2 usage. PMD's own log is silenced by the
// package's slf4j-nop, so warnings and errors go to stderr here and a rule that does not load fails.
import java.nio.file.Paths;
import net.sourceforge.pmd.PMDConfiguration;
import net.sourceforge.pmd.PmdAnalysis;
import net.sourceforge.pmd.reporting.ReportStats;
import net.sourceforge.pmd.util.log.PmdReporter;
import org.slf4j.event.Level;

public class PmdCheck {
    public static void main(String[] a) {
        if (a.length != 4) { System.err.println("usage: PmdCheck <rulesets> <inputDir> <format> <reportFile>"); System.exit(2); }
        try {
            // The shipped slf4j-nop swallows PMD's log output; send warnings/errors to stderr and count errors instead.
            final int[] errs = {0};
            PmdReporter rep = new PmdReporter() {
                public boolean isLoggable(Level l) { return l.toInt() >= Level.WARN.toInt(); }
                public void logEx(Level l, String msg, Object[] fmt, Throwable t) {
                    if (l == Level.ERROR) errs[0]++;
                    if (!isLoggable(l)) return;
                    System.err.println("[" + l + "] " + java.text.MessageFormat.format(msg.replace("'", "''"), fmt) + (t != null ? " : " + t : ""));
                }
                public int numErrors() { return errs[0]; }
            };
            PMDConfiguration c = new PMDConfiguration();
            c.setReporter(rep);
            int wanted = a[0].split(",").length;
            for (String r : a[0].split(",")) c.addRuleSet(r.trim());
            c.addInputPath(Paths.get(a[1]));
            c.addRelativizeRoot(Paths.get(a[1]).toAbsolutePath());
            c.setReportFormat(a[2]);
            c.setReportFile(Paths.get(a[3]));
            c.setIgnoreIncrementalAnalysis(true);   // == --no-cache
            ReportStats s;
            try (PmdAnalysis pmd = PmdAnalysis.create(c)) {
                int loaded = pmd.getRulesets().stream().mapToInt(rs -> rs.getRules().size()).sum();
                if (rep.numErrors() > 0 || loaded < wanted) { System.err.println("config error: loaded " + loaded + " of " + wanted + " rules"); System.exit(1); }
                s = pmd.runAndReturnStats();
            }
            System.err.println("violations=" + s.getNumViolations() + " errors=" + s.getNumErrors());
            if (s.getNumErrors() > 0) System.exit(5);
            System.exit(s.getNumViolations() > 0 ? 4 : 0);
        } catch (Throwable t) { t.printStackTrace(); System.exit(1); }
    }
}
