// The model-agnostic core: Java 8, no android.* imports. CI compiles and tests the same sources
// with Debian's javac + junit4 (tests/test_android_core.py); here Gradle does it the usual way.
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_1_8
    targetCompatibility = JavaVersion.VERSION_1_8
}

dependencies {
    // org.json is part of Android; on the JVM the tests use AOSP's copy
    compileOnly(libs.android.json)
    testImplementation(libs.android.json)
    testImplementation(libs.junit)
}

tasks.test {
    // the golden vectors and the function schema live in the Python package: one source of truth
    val repo = rootDir.parentFile
    systemProperty("phonelm.golden", File(repo, "tests/golden/intents").path)
    systemProperty("phonelm.functions", File(repo, "phonelm_export/intents/data/functions.json").path)
}
