// PhoneLM demo: chat + intent calling on the phone. Built with Android Studio / Gradle (not on the
// project's CI machine, which has no Android SDK; see README.md for what is proven where).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "phonelm-demo"
include(":core", ":app", ":engine-llamacpp", ":engine-executorch", ":engine-mlc")

// MLC's Android library is not on Maven: `mlc_llm package` builds it (with your model library)
// into a dist directory; point -Pmlc4j.dir=<dist>/lib/mlc4j (or gradle.properties) at it.
val mlc4jDir = providers.gradleProperty("mlc4j.dir").orNull
if (mlc4jDir != null) {
    include(":mlc4j")
    project(":mlc4j").projectDir = file(mlc4jDir)
}
