plugins {
    alias(libs.plugins.android.application)
}

android {
    namespace = "org.phonelm.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.phonelm.demo"
        minSdk = 26 // java.time (ISO 8601 -> epoch ms in the core)
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    // One flavor per engine, so a build pulls in only the native code it needs.
    // replay: no model, no native code — the same app as the logic-only APK CI builds.
    flavorDimensions += "engine"
    productFlavors {
        create("replay") { dimension = "engine" }
        create("llamacpp") { dimension = "engine" }
        create("executorch") { dimension = "engine" }
        create("mlc") { dimension = "engine" }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }
}

dependencies {
    implementation(project(":core"))
    "llamacppImplementation"(project(":engine-llamacpp"))
    "executorchImplementation"(project(":engine-executorch"))
    "mlcImplementation"(project(":engine-mlc"))
}
