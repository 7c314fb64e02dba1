plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.phonelm.demo.engine.mlc"
    compileSdk = 35
    defaultConfig { minSdk = 26 }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

dependencies {
    implementation(project(":core"))
    // mlc4j comes from `mlc_llm package` (see settings.gradle.kts and README.md)
    if (findProject(":mlc4j") != null) implementation(project(":mlc4j"))
    implementation(libs.kotlinx.coroutines.android)
}
