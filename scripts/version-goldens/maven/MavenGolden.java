// Maven's version order with org.apache.maven.artifact.versioning.ComparableVersion, run as
// `java -cp maven-artifact.jar MavenGolden.java < pairs`.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class MavenGolden {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] ab = line.split("\t", -1);
            int c = new ComparableVersion(ab[0]).compareTo(new ComparableVersion(ab[1]));
            System.out.println(ab[0] + "\t" + (c < 0 ? "<" : c == 0 ? "=" : ">") + "\t" + ab[1]);
        }
    }
}
